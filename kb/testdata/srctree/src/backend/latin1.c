/* Latin-1 comment by Jürgen Müller. */
int
old_function(void)
{
	return 1;
}
