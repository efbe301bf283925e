package flytoml

import (
	"strconv"

	units "github.com/docker/go-units"
)

// parseMemoryMB reads a [[vm]] memory value the way flyctl does
// (helpers.ParseSize with docker/go-units' RAMInBytes, in MiB): a bare
// integer is a number of MB; otherwise a number with an optional binary unit
// k, m, g, t or p, optionally followed by "b" or "ib", in any case ("512mb",
// "1gb", "8g", "1GiB"). "256Mi" is refused, as go-units refuses it.
func parseMemoryMB(s string) (int, error) {
	if n, err := strconv.Atoi(s); err == nil {
		return n, nil
	}
	b, err := units.RAMInBytes(s)
	if err != nil {
		return 0, err
	}
	return int(b / units.MiB), nil
}
