/* The header self-containment check is done by the compiler (one
 * translation unit per public header, generated from header.c.in); this
 * program only gives it a test entry. */
int main(void) { return 0; }
