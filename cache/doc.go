// Package cache computes BuildKit-like content-based cache keys for build
// steps and keeps the key → snapshot index (and the build context's stat
// cache) in the store's cache.db.
package cache
