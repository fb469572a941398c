/* generated from gram.y */
int yyparse(void) { return 0; }
