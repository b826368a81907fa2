// The cases are build contexts, not Go code: this file keeps them out of the
// kiln module (go build/vet/test ./... skip nested modules). Some hold .go
// files that are just data.
module kiln-conformance-cases

go 1.26
