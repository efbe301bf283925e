// Command benchcmd runs a command many times and prints the median wall time
// and the median CPU time (user + system, from the child's rusage) in
// milliseconds. scripts/bench-validate.sh uses it for the README's figures;
// CPU time stays meaningful when the machine is busy, wall time is what a
// user waits.
//
//	go run ./scripts/benchcmd -n 41 -- deploy-action validate examples/grupo-gad
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"time"
)

func main() {
	n := flag.Int("n", 21, "runs (after 3 warm-up runs)")
	flag.Parse()
	args := flag.Args()
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: benchcmd [-n RUNS] -- COMMAND [ARGS...]")
		os.Exit(2)
	}
	var wall, cpu []float64
	for i := -3; i < *n; i++ {
		cmd := exec.Command(args[0], args[1:]...)
		start := time.Now()
		err := cmd.Run()
		w := time.Since(start)
		if cmd.ProcessState == nil {
			fmt.Fprintf(os.Stderr, "benchcmd: %v\n", err)
			os.Exit(2)
		}
		if i < 0 {
			continue
		}
		wall = append(wall, ms(w))
		cpu = append(cpu, ms(cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime()))
	}
	fmt.Printf("%.1f %.1f\n", median(wall), median(cpu))
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func median(v []float64) float64 {
	sort.Float64s(v)
	return v[len(v)/2]
}
