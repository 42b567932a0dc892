"""Database plumbing the feature packages share, knowing no feature (so every feature may
import it and the Store, which composes the features, too): VACUUM after a deletion on
PostgreSQL."""
