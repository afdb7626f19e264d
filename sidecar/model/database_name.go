package model

// DatabaseName is a database name ValidateIdentifier accepted: whoever
// holds one has validated it once and need not again.
type DatabaseName string

// ParseDatabaseName validates name once into a DatabaseName.
func ParseDatabaseName(name string) (DatabaseName, error) {
	if err := ValidateIdentifier("database", name); err != nil {
		return "", err
	}
	return DatabaseName(name), nil
}
