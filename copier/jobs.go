package copier

import (
	"os"
	"runtime"
	"sync"
)

// copyWorkers bounds the files one Copy writes at once. File creation
// waits on the filesystem (and, through overlayfs, on lookups in each lower
// layer) more than on the CPU, so a few more workers than CPUs pay.
var copyWorkers = min(2*runtime.NumCPU(), 8)

// fileJobs are the regular files of one directory being copied by
// workers; the directory's own times are set only after all of them are
// written (each create changes its mtime), so the walk waits for them.
type fileJobs struct {
	sem chan struct{}
	wg  sync.WaitGroup
	mu  sync.Mutex
	err error
}

func newFileJobs(sem chan struct{}) *fileJobs { return &fileJobs{sem: sem} }

// run copies one file on a worker; a failure is reported by failed and
// wait.
func (j *fileJobs) run(f func() error) {
	j.sem <- struct{}{}
	j.wg.Add(1)
	go func() {
		defer func() { <-j.sem; j.wg.Done() }()
		if err := f(); err != nil {
			j.mu.Lock()
			if j.err == nil {
				j.err = err
			}
			j.mu.Unlock()
		}
	}()
}

// failed is the first error of a job that has finished, if any.
func (j *fileJobs) failed() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.err
}

// wait waits for every job and returns the first error.
func (j *fileJobs) wait() error {
	j.wg.Wait()
	return j.failed()
}

// parallel reports whether the entry may be copied by a worker: a regular
// file that is not one of several hard links (those are linked to the
// first copy, in walk order).
func parallel(fi os.FileInfo) bool {
	if !fi.Mode().IsRegular() {
		return false
	}
	_, nlink := inodeOf(fi)
	return nlink < 2
}
