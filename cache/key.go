package cache

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
)

// Key accumulates the inputs of one step: key(step) = H(key(parent), kind,
// fields…). Fields are length-prefixed, so no two field lists collide.
type Key struct{ h hash.Hash }

// NewKey starts the key of a step of kind (RUN, COPY, …) on top of parent.
func NewKey(parent, kind string) *Key {
	k := &Key{h: sha256.New()}
	k.Add("parent", parent)
	k.Add("kind", kind)
	return k
}

// Add mixes one named field into the key.
func (k *Key) Add(name, value string) *Key {
	fmt.Fprintf(k.h, "%d:%s=%d:%s\n", len(name), name, len(value), value)
	return k
}

// AddList mixes a list of values, order kept.
func (k *Key) AddList(name string, values []string) *Key {
	k.Add(name, fmt.Sprint(len(values)))
	for _, v := range values {
		k.Add(name+"[]", v)
	}
	return k
}

// String is the finished key, hex.
func (k *Key) String() string { return hex.EncodeToString(k.h.Sum(nil)) }

// BaseKey is the key a stage starts from: an image by its config digest
// (its ID), or scratch.
func BaseKey(imageID string) string {
	if imageID == "" || imageID == ":" {
		imageID = "scratch"
	}
	return NewKey("", "FROM").Add("image", imageID).String()
}
