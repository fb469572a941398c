package checks

// typeRules flag schema design choices that hurt later (group C).
var typeRules = []*Rule{
	charN,
	enumType,
	identifierTooLong,
	jsonNotJsonb,
	namingConvention,
	serialNotIdentity,
	smallIntegerIDs,
	tableWithoutPK,
	timestampWithoutTZ,
	unqualifiedNames,
	varcharLength,
	wideIndex,
}
