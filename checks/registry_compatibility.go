package checks

// compatibilityRules flag changes that break running application code or
// destroy data (group B of the catalogue).
var compatibilityRules = []*Rule{}
