package archive

import "github.com/moby/sys/userns"

// OpaqueXattr is the xattr that marks an opaque directory in overlay
// format: trusted.overlay.opaque, or user.overlay.opaque in a user
// namespace (rootless kiln), where overlayfs is mounted with userxattr
// and trusted.* cannot be set. Readers accept both.
func OpaqueXattr() string {
	if userns.RunningInUserNS() {
		return "user.overlay.opaque"
	}
	return "trusted.overlay.opaque"
}

// OpaqueXattrs are the names an opaque marker may have.
var OpaqueXattrs = []string{"trusted.overlay.opaque", "user.overlay.opaque"}
