package checks

// compatibilityRules flag changes that break running application code or
// destroy data (group B of the catalogue).
var compatibilityRules = []*Rule{
	addRequiredColumn,
	dataDependentUnique,
	dropCascade,
	dropColumn,
	dropDatabase,
	dropForeignKey,
	dropNotNull,
	dropSchema,
	dropTable,
	enumValueAppend,
	onDeleteCascade,
	renameColumn,
	renameEnumValue,
	renameSchema,
	renameTable,
}
