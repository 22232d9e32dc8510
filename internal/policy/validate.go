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

	var interval time.Duration
	if len(scheduleErrs) == 0 {
		interval = plan.interval
	}
	errs = append(errs, p.Retention.validate("retention", interval, "the schedule's interval")...)
	if p.Copy != nil {
		errs = append(errs, p.Copy.validate(interval)...)
	}
	if err := validateRPO("rpo", p.RPO, interval); err != nil {
		errs = append(errs, err)
	}
	if err := validateLockFor("lockFor", p.LockFor, p.Retention); err != nil {
		errs = append(errs, err)
	}
	if p.TestRestore != nil {
		errs = append(errs, p.TestRestore.validate()...)
	}
	if p.Verify != nil {
		errs = append(errs, p.Verify.validate()...)
	}
	return errors.Join(errs...)
}

// validate checks retention rules under field (e.g. "copy.retention"): a default at least
// interval (0: not checked; what names it in the error), rules not shorter than the default.
func (r Retention) validate(field string, interval time.Duration, what string) []error {
	var errs []error
	switch {
	case r.Default == 0:
		errs = append(errs, fmt.Errorf(`%s.default: required (e.g. "7d")`, field))
	case r.Default < 0:
		errs = append(errs, fmt.Errorf("%s.default %s: must be positive", field, r.Default))
	case interval > 0 && time.Duration(r.Default) < interval:
		errs = append(errs, fmt.Errorf("%s.default %s is shorter than %s %s: every recovery point would expire before the next backup",
			field, r.Default, what, Duration(interval)))
	}
	for _, rl := range r.rules() {
		switch {
		case rl.keep < 0:
			errs = append(errs, fmt.Errorf("%s.%s %s: must not be negative", field, rl.name, rl.keep))
		case rl.keep > 0 && rl.keep < r.Default:
			errs = append(errs, fmt.Errorf("%s.%s %s is shorter than %s.default %s", field, rl.name, rl.keep, field, r.Default))
		}
	}
	if r.KeepLast < 0 {
		errs = append(errs, fmt.Errorf("%s.keepLast %d: must be 0 or more", field, r.KeepLast))
	}
	return errs
}

// validate checks the copy tier; interval is the schedule's (0: unknown).
func (c CopyTier) validate(interval time.Duration) []error {
	var errs []error
	switch {
	case c.Every != 0 && c.Daily:
		errs = append(errs, errors.New("copy: give either every or daily, not both"))
	case c.Every < 0:
		errs = append(errs, fmt.Errorf("copy.every %d: give 1 to copy every scheduled backup, N to copy every N-th", c.Every))
	case c.Every == 0 && !c.Daily:
		errs = append(errs, errors.New(`copy: say which backups copy: every: N (every N-th scheduled backup) or daily: true (the first of each UTC day)`))
	}
	what := "the time between copies"
	switch {
	case c.Daily:
		interval = 24 * time.Hour
	case c.Every > 0:
		interval *= time.Duration(c.Every)
	default:
		interval = 0
	}
	return append(errs, c.Retention.validate("copy.retention", interval, what)...)
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
