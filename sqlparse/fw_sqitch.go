package sqlparse

// sqitchTool: sqitch. deploy/, revert/ and verify/ scripts named after the
// changes listed in sqitch.plan (https://sqitch.org/docs/manual/sqitch-plan/);
// Load finds them from the plan (sqitchProject), not from their names.
type sqitchTool struct{}

func (sqitchTool) id() Framework                            { return FrameworkSqitch }
func (sqitchTool) fromName(string, string) (nameInfo, bool) { return nameInfo{}, false }
func (sqitchTool) fromContent([]byte) bool                  { return false }
func (sqitchTool) noTxAdvice() string {
	return "Put it in its own change, deployed without a transaction (sqitch wraps each change in a transaction; use a non-transactional deploy script)."
}

// layoutSqitch: sqitch runs each script with psql --file, ON_ERROR_STOP=1
// and no --single-transaction (lib/App/Sqitch/Engine/pg.pm: run_file,
// _client_opts). The only transaction is the one the script opens itself;
// sqitch's default deploy and revert templates wrap the change in
// BEGIN; … COMMIT;. Revert scripts are down parts; verify scripts are not
// migrations (Load skips them).
func (sqitchTool) layout(f *File, _ Options, h hint) *fileLayout {
	f.TxMode, f.TxReason = TxModeNone, "sqitch runs the script with psql without --single-transaction: only the script's own BEGIN/COMMIT makes a transaction"
	return whole(f, h.part, group{mode: TxModeNone})
}
