package checks

// lockRules flag statements that take strong locks for a long time: scans,
// rewrites and index builds on existing tables (group A of the catalogue).
var lockRules = []*Rule{
	indexCreateNonconcurrent,
	addColumnVolatileDefault,
	addColumnRewritingKind,
	fkValidatedInline,
	checkValidatedInline,
	validateInSameTx,
	setNotNull,
	addUniqueConstraint,
	addPrimaryKey,
	pkOnNullableColumns,
	addExclusionConstraint,
	alterColumnType,
	concurrentInTransaction,
	indexDropNonconcurrent,
	reindexNonconcurrent,
	detachPartitionNonconcurrent,
	vacuumFullOrCluster,
}
