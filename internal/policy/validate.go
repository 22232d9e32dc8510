package policy

import (
	"errors"
	"fmt"
	"time"
)

// Validate checks a policy and returns all its problems joined, each naming its field.
func (p Policy) Validate() error {
	var errs []error
	if err := validateName(p.Name); err != nil {
		errs = append(errs, err)
	}
	plan, scheduleErrs := p.Schedule.compile()
	errs = append(errs, scheduleErrs...)

	r := p.Retention
	switch {
	case r.Default == 0:
		errs = append(errs, errors.New(`retention.default: required (e.g. "7d")`))
	case r.Default < 0:
		errs = append(errs, fmt.Errorf("retention.default %s: must be positive", r.Default))
	case len(scheduleErrs) == 0 && time.Duration(r.Default) < plan.interval:
		errs = append(errs, fmt.Errorf("retention.default %s is shorter than the schedule's interval %s: every recovery point would expire before the next backup",
			r.Default, Duration(plan.interval)))
	}
	for _, rl := range r.rules() {
		switch {
		case rl.keep < 0:
			errs = append(errs, fmt.Errorf("retention.%s %s: must not be negative", rl.name, rl.keep))
		case rl.keep > 0 && rl.keep < r.Default:
			errs = append(errs, fmt.Errorf("retention.%s %s is shorter than retention.default %s", rl.name, rl.keep, r.Default))
		}
	}
	if r.KeepLast < 0 {
		errs = append(errs, fmt.Errorf("retention.keepLast %d: must be 0 or more", r.KeepLast))
	}
	return errors.Join(errs...)
}

// validateName requires a DNS label: 1-63 characters [a-z0-9-], starting and ending alphanumeric.
func validateName(name string) error {
	if name == "" {
		return errors.New("name: required")
	}
	ok := len(name) <= 63 && name[0] != '-' && name[len(name)-1] != '-'
	for i := 0; i < len(name) && ok; i++ {
		c := name[i]
		ok = c == '-' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9'
	}
	if !ok {
		return fmt.Errorf("name %q: must be a DNS label (1-63 characters a-z, 0-9 or -, starting and ending with a letter or digit)", name)
	}
	return nil
}
