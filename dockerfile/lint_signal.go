package dockerfile

import (
	"fmt"
	"strconv"
	"strings"
)

// checkStopSignal fails on a STOPSIGNAL BuildKit (moby/sys/signal's
// ParseSignal, with Linux's signals) does not know.
func checkStopSignal(sig string) error {
	if n, err := strconv.Atoi(sig); err == nil {
		if n == 0 {
			return fmt.Errorf("invalid signal: %s", sig)
		}
		return nil
	}
	name := strings.TrimPrefix(strings.ToUpper(sig), "SIG")
	if !linuxSignals[name] && !isRealtimeSignal(name) {
		return fmt.Errorf("invalid signal: %s", sig)
	}
	return nil
}

var linuxSignals = map[string]bool{
	"ABRT": true, "ALRM": true, "BUS": true, "CHLD": true, "CLD": true, "CONT": true, "FPE": true, "HUP": true,
	"ILL": true, "INT": true, "IO": true, "IOT": true, "KILL": true, "PIPE": true, "POLL": true, "PROF": true,
	"PWR": true, "QUIT": true, "SEGV": true, "STKFLT": true, "STOP": true, "SYS": true, "TERM": true, "TRAP": true,
	"TSTP": true, "TTIN": true, "TTOU": true, "URG": true, "USR1": true, "USR2": true, "VTALRM": true, "WINCH": true,
	"XCPU": true, "XFSZ": true, "RTMIN": true, "RTMAX": true,
}

// isRealtimeSignal: RTMIN+1 … RTMIN+15 and RTMAX-14 … RTMAX-1.
func isRealtimeSignal(name string) bool {
	for _, pre := range []string{"RTMIN+", "RTMAX-"} {
		if n, ok := strings.CutPrefix(name, pre); ok {
			i, err := strconv.Atoi(n)
			return err == nil && strconv.Itoa(i) == n && i >= 1 && i <= 15 && !(pre == "RTMAX-" && i == 15)
		}
	}
	return false
}
