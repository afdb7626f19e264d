package model

// Rights a view's SQL SECURITY takes, and the one that stops a view.
const (
	RightSetDefiner      = "SET DEFINER"
	RightSQLSecurityNone = "ALLOW SQL SECURITY NONE"
	RightSystemViews     = "SYSTEM VIEWS"
)
