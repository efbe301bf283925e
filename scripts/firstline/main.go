// Command firstline measures how long a command takes from its start to its
// first log line (the first line on stdout that is not a `::add-mask::`
// command, which the runner hides) and to its exit, over many runs, and
// prints the medians in milliseconds: "FIRST_LINE_MS EXIT_MS".
// scripts/bench-action.sh uses it for the README's start-up figure.
//
//	go run ./scripts/firstline -n 41 -- deploy-action
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"time"
)

func main() {
	n := flag.Int("n", 21, "runs (after 3 warm-up runs)")
	flag.Parse()
	args := flag.Args()
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "usage: firstline [-n RUNS] -- COMMAND [ARGS...]")
		os.Exit(2)
	}
	var first, exit []float64
	for i := -3; i < *n; i++ {
		f, e, err := once(args)
		if err != nil {
			fmt.Fprintf(os.Stderr, "firstline: %v\n", err)
			os.Exit(2)
		}
		if i >= 0 {
			first, exit = append(first, f), append(exit, e)
		}
	}
	fmt.Printf("%.2f %.2f\n", median(first), median(exit))
}

// once runs the command and returns the milliseconds to its first log line
// (to its exit when it prints none) and to its exit.
func once(args []string) (first, exit float64, err error) {
	cmd := exec.Command(args[0], args[1:]...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return 0, 0, err
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	var firstAt time.Duration
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if firstAt == 0 && !strings.HasPrefix(sc.Text(), "::add-mask::") {
			firstAt = time.Since(start)
		}
	}
	_ = cmd.Wait() // a non-zero exit (findings) is expected
	total := time.Since(start)
	if firstAt == 0 {
		firstAt = total
	}
	return ms(firstAt), ms(total), nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func median(v []float64) float64 {
	sort.Float64s(v)
	return v[len(v)/2]
}
