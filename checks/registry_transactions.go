package checks

// transactionRules flag script and transaction hygiene problems (group D).
var transactionRules = []*Rule{
	nonIdempotentStmt,
	transactionNesting,
	uncommittedTransaction,
	duplicateColumn,
	enumValueUsedInSameTx,
}
