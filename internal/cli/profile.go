package cli

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"

	"golang.org/x/sys/unix"
)

// startProfiles starts the profiles the environment asks for (for
// bench/: KILN_CPUPROFILE, KILN_MEMPROFILE and KILN_TRACE name files;
// KILN_RUSAGE names a file that gets a line with kiln's own peak RSS and
// CPU time, without its containers') and returns the function that writes
// them out.
func startProfiles(stderr io.Writer) func() {
	var stops []func() error
	if p := os.Getenv("KILN_RUSAGE"); p != "" {
		stops = append(stops, func() error { return appendRusage(p) })
	}
	if p := os.Getenv("KILN_CPUPROFILE"); p != "" {
		if f, err := os.Create(p); err != nil {
			fmt.Fprintln(stderr, "kiln: KILN_CPUPROFILE:", err)
		} else if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			fmt.Fprintln(stderr, "kiln: KILN_CPUPROFILE:", err)
		} else {
			stops = append(stops, func() error { pprof.StopCPUProfile(); return f.Close() })
		}
	}
	if p := os.Getenv("KILN_TRACE"); p != "" {
		if f, err := os.Create(p); err != nil {
			fmt.Fprintln(stderr, "kiln: KILN_TRACE:", err)
		} else if err := trace.Start(f); err != nil {
			f.Close()
			fmt.Fprintln(stderr, "kiln: KILN_TRACE:", err)
		} else {
			stops = append(stops, func() error { trace.Stop(); return f.Close() })
		}
	}
	if p := os.Getenv("KILN_MEMPROFILE"); p != "" {
		stops = append(stops, func() error {
			f, err := os.Create(p)
			if err != nil {
				return err
			}
			runtime.GC()
			if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
				f.Close()
				return err
			}
			return f.Close()
		})
	}
	return func() {
		for _, stop := range stops {
			if err := stop(); err != nil {
				fmt.Fprintln(stderr, "kiln: writing a profile:", err)
			}
		}
	}
}

// appendRusage appends "maxrss_kb=N user_s=U sys_s=S" for this process
// alone (RUSAGE_SELF: the RUN steps' processes are children, not counted).
func appendRusage(path string) error {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	sec := func(t unix.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	_, err = fmt.Fprintf(f, "maxrss_kb=%d user_s=%.2f sys_s=%.2f\n", ru.Maxrss, sec(ru.Utime), sec(ru.Stime))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
