-- The names of a cluster's namespaces as its agent last reported them, a sorted JSON array of
-- strings like recovery_points.namespaces: the dashboard flags the ones no instance covers.
ALTER TABLE clusters ADD COLUMN namespaces TEXT NOT NULL DEFAULT '[]'
