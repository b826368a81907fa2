// Package attest makes the attestations BuildKit attaches to images — an
// SPDX 2.3 SBOM of the packages an image holds (dpkg, apk, Go binaries'
// build info) and SLSA v1 provenance — as in-toto statements, and stores
// and finds them as attestation manifests in an image index.
//
// The layout is BuildKit's (docs/attestations/attestation-storage.md in
// its repository): with attestations, an image is an OCI image index even
// for one platform. Next to each platform's image manifest the index lists
// an attestation manifest with the platform unknown/unknown and the
// annotations vnd.docker.reference.type=attestation-manifest and
// vnd.docker.reference.digest=<the image manifest's digest>. Its layers are
// the statements (application/vnd.in-toto+json, each annotated with its
// in-toto.io/predicate-type), its config the OCI empty JSON, its subject
// the image manifest:
//
//	index ─┬─ image manifest (linux/amd64) ── config, layers
//	       └─ attestation manifest (unknown/unknown) ─┬─ SBOM statement
//	                                                 └─ provenance statement
//
// Put writes an attestation manifest, List reads those of an index, and
// IsAttestation tells them from images when an index is walked.
package attest
