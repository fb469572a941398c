package sqlparse

// assignTransactions sets InTransaction and TxBlock on every statement
// from the tool's wrapping (the layout's groups) and the file's own
// transaction statements, and File.InTransaction from the up part.
//
// Within a group the tool wraps, an explicit BEGIN only draws a warning
// ("there is already a transaction in progress") and its COMMIT ends the
// tool's transaction early: with group.reopen the next statement starts a
// new transaction, otherwise later statements autocommit. Outside a tool
// transaction, BEGIN (or START TRANSACTION) opens a block that lasts to
// COMMIT, ROLLBACK, END or PREPARE TRANSACTION; COMMIT AND CHAIN opens the
// next one at once.
func assignTransactions(f *File, lay *fileLayout) {
	var order []int
	byGroup := map[int][]*Statement{}
	for _, st := range f.Statements {
		if _, ok := byGroup[st.group]; !ok {
			order = append(order, st.group)
		}
		byGroup[st.group] = append(byGroup[st.group], st)
	}
	blocks := 0
	newBlock := func() int { blocks++; return blocks }
	for _, gid := range order {
		stmts := byGroup[gid]
		g := lay.groups[gid]
		wrapped := g.mode == TxModeFile || g.mode == TxModeChangeset || (g.mode == TxModeImplicit && len(stmts) > 1)
		if wrapped && stmts[0].Part == PartUp {
			f.InTransaction = true
		}
		cur := 0
		if wrapped {
			cur = newBlock()
		}
		pending := false
		for _, st := range stmts {
			if pending {
				cur, pending = newBlock(), false
			}
			switch txKindOf(st.Node) {
			case txBegin:
				if cur == 0 {
					cur = newBlock()
				}
				st.TxBlock = cur
			case txEnd:
				st.TxBlock = cur
				cur = 0
				pending = wrapped && g.reopen
			case txEndChain:
				st.TxBlock = cur
				cur = newBlock()
			default:
				st.TxBlock = cur
			}
			st.InTransaction = st.TxBlock != 0
		}
	}
}
