package agent

import (
	_ "embed"
	"strings"
)

// PromptVersion is the version of the system prompt; bump it with every
// change of prompts/system.md (it is recorded with each conversation).
const PromptVersion = "2026-12-04.1"

//go:embed prompts/system.md
var systemPrompt string

// SystemPrompt is the "superprompt" every conversation starts with.
func SystemPrompt() string {
	return strings.ReplaceAll(systemPrompt, "{{VERSION}}", PromptVersion)
}
