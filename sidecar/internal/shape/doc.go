// Package shape holds the tests of the code's shape that CI keeps: rules a
// reviewer would otherwise count by hand (methods_test.go: no type with
// more than 30 methods, promoted ones included; model_test.go: the model
// does no I/O). It has no code of its own.
package shape
