// Package archtest holds the tests that keep the repository's layering
// and the size of its functions honest: the import rules of
// docs/architecture.md and a bound on the cyclomatic complexity of the
// protocol core. It has no code of its own.
package archtest
