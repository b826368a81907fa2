// Package runtime runs one process in a Linux container described by an OCI
// runtime spec: in-process with runc's libcontainer, or with an external OCI
// runtime binary such as runc.
package runtime
