package snapshot

import (
	"context"
	"fmt"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// classes are the cluster's VolumeSnapshotClasses.
type classes struct {
	served   bool
	driverOf map[string]string   // class → driver
	defaults map[string][]string // driver → default classes
}

func (s *Snapshotter) loadClasses(ctx context.Context) (*classes, error) {
	c := &classes{driverOf: map[string]string{}, defaults: map[string][]string{}}
	list, err := s.dyn.Resource(ClassResource).List(ctx, metav1.ListOptions{})
	if apierrors.IsNotFound(err) {
		return c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list VolumeSnapshotClasses: %w", err)
	}
	c.served = true
	for _, item := range list.Items {
		driver, _ := item.Object["driver"].(string)
		c.driverOf[item.GetName()] = driver
		if item.GetAnnotations()[defaultClassAnnotation] == "true" {
			c.defaults[driver] = append(c.defaults[driver], item.GetName())
		}
	}
	for _, d := range c.defaults {
		sort.Strings(d)
	}
	return c, nil
}

// forDriver picks the class for a volume of driver: the named one if it is that driver's, else
// the driver's only default class. Without a class it says why.
func (c *classes) forDriver(named, driver string) (string, string) {
	if named != "" {
		if d := c.driverOf[named]; d != driver {
			return "", fmt.Sprintf("snapshot class %q is for CSI driver %s, not %s", named, d, driver)
		}
		return named, ""
	}
	switch d := c.defaults[driver]; len(d) {
	case 0:
		return "", fmt.Sprintf("CSI driver %s has no default VolumeSnapshotClass: create one (annotation %s: \"true\") or name one with --snapshot-class", driver, defaultClassAnnotation)
	case 1:
		return d[0], ""
	default:
		return "", fmt.Sprintf("CSI driver %s has %d default VolumeSnapshotClasses (%s): name one with --snapshot-class", driver, len(d), strings.Join(d, ", "))
	}
}
