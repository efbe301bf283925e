// Command benchcmd runs commands many times and prints, for each, the median
// wall time and the median CPU time (user + system, from the child's
// rusage) in milliseconds. Several commands, separated by "::", are run
// interleaved (A B A B …) so that each sees the same machine load.
// scripts/bench-validate.sh uses it for the README's figures.
//
//	go run ./scripts/benchcmd -n 41 -- deploy-action validate DIR :: python3 -c pass
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"time"
)

func main() {
	n := flag.Int("n", 21, "runs of each command (after 3 warm-up rounds)")
	flag.Parse()
	var cmds [][]string
	cur := []string{}
	for _, a := range flag.Args() {
		if a == "::" {
			cmds, cur = append(cmds, cur), []string{}
			continue
		}
		cur = append(cur, a)
	}
	cmds = append(cmds, cur)
	for _, c := range cmds {
		if len(c) == 0 {
			fmt.Fprintln(os.Stderr, "usage: benchcmd [-n RUNS] -- COMMAND [ARGS...] [:: COMMAND [ARGS...]]...")
			os.Exit(2)
		}
	}
	wall := make([][]float64, len(cmds))
	cpu := make([][]float64, len(cmds))
	for i := -3; i < *n; i++ {
		for k, args := range cmds {
			w, c, err := run(args)
			if err != nil {
				fmt.Fprintf(os.Stderr, "benchcmd: %s: %v\n", strings.Join(args, " "), err)
				os.Exit(2)
			}
			if i >= 0 {
				wall[k] = append(wall[k], w)
				cpu[k] = append(cpu[k], c)
			}
		}
	}
	for k := range cmds {
		fmt.Printf("%.1f %.1f\n", median(wall[k]), median(cpu[k]))
	}
}

// run runs args once and returns its wall and CPU time in milliseconds. A
// non-zero exit is not an error: only a command that cannot start is.
func run(args []string) (wall, cpu float64, err error) {
	cmd := exec.Command(args[0], args[1:]...)
	start := time.Now()
	err = cmd.Run()
	w := time.Since(start)
	if cmd.ProcessState == nil {
		return 0, 0, err
	}
	return ms(w), ms(cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()), nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func median(v []float64) float64 {
	sort.Float64s(v)
	return v[len(v)/2]
}
