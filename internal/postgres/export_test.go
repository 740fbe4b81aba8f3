package postgres

// The list's statements, for the plan tests (package postgres_test).
var (
	ListQuery       = listQuery
	CountQuery      = countQuery
	SearchPageQuery = searchPageQuery
)
