package statedir

// SetBootID makes the ledger see id as this boot's id until restore.
func SetBootID(id string) (restore func()) {
	old := bootID
	bootID = func() string { return id }
	return func() { bootID = old }
}
