-- Objects the cloud pushes with versions (issue 8): the last version applied, and whether the object was edited
-- here since (then the next version from the cloud is a conflict, see hearth/cloud/objects.py).
CREATE TABLE cloud_objects (
    kind          TEXT NOT NULL,
    oid           TEXT NOT NULL,
    cloud_version INTEGER NOT NULL,
    edited_here   INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (kind, oid)
);
