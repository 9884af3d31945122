/* corpus.c — placeholder until the corpus generator lands. */
#include <stdio.h>
int main(void) { fprintf(stderr, "corpus-gen: not implemented yet\n"); return 1; }
