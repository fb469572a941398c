// Package agent is the reviewer's LLM agent: a model behind a small
// interface (any OpenAI-compatible server), a versioned system prompt, the
// seven tools of the Postgres.AI bot (knowledge-base search, experiments on
// a clone, benchmarks, plots, allow-listed web pages, debug mode), the
// tool-calling loop with its limits, conversations stored in PostgreSQL
// and resumed per merge-request thread or chat session, a monthly request
// quota per GitLab user, grounded explanations for review findings, and the
// /pgai ask and /pgai experiment commands.
//
// The model never decides anything that matters: the gate is decided by
// the rules and the measurements; every fact the agent states must come
// from a tool result, and the answer lists the knowledge-base sources it
// cited (only those the tools returned).
package agent
