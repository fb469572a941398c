package checks

// typeRules flag schema design choices that hurt later (group C).
var typeRules = []*Rule{}
