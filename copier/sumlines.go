package copier

import (
	"io"
	"os"
)

// sumLines writes Checksum's records to h in walk order while the file
// digests they end with are computed by workers (the copier's semaphore):
// reading and hashing every file of a large context one after the other
// was a fifth of a 10,000-file COPY. At most 2×sumWindow records wait.
type sumLines struct {
	h       io.Writer
	sem     chan struct{}
	digest  FileDigest
	pending []*sumLine
}

const sumWindow = 1024

// sumLine is one record: prefix, then (for a regular file) its digest.
type sumLine struct {
	prefix string
	done   chan struct{} // nil: no digest to wait for
	extra  string
	err    error
}

// add queues a record whose last field is extra.
func (s *sumLines) add(prefix, extra string) error {
	s.pending = append(s.pending, &sumLine{prefix: prefix, extra: extra})
	return s.trim()
}

// addFile queues the record of a regular file, its digest computed by a
// worker.
func (s *sumLines) addFile(prefix, abs string, fi os.FileInfo) error {
	l := &sumLine{prefix: prefix, done: make(chan struct{})}
	s.sem <- struct{}{}
	go func() {
		defer func() { <-s.sem; close(l.done) }()
		l.extra, l.err = s.digest(abs, fi)
	}()
	s.pending = append(s.pending, l)
	return s.trim()
}

func (s *sumLines) trim() error {
	if len(s.pending) < 2*sumWindow {
		return nil
	}
	return s.drain(sumWindow)
}

// drain writes the queued records, in order, until keep are left.
func (s *sumLines) drain(keep int) error {
	n := len(s.pending) - keep
	var first error
	for _, l := range s.pending[:n] {
		if l.done != nil {
			<-l.done
		}
		if first == nil && l.err != nil {
			first = l.err
		}
		if first == nil {
			if _, err := io.WriteString(s.h, l.prefix+l.extra+"\n"); err != nil {
				first = err
			}
		}
	}
	s.pending = append(s.pending[:0], s.pending[n:]...)
	return first
}

// wait waits for every queued digest without writing (after a failure).
func (s *sumLines) wait() {
	for _, l := range s.pending {
		if l.done != nil {
			<-l.done
		}
	}
	s.pending = nil
}
