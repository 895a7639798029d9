-- Full-text search over the catalog (seed: FTS5 with sync triggers), external content on apps.seq.
-- unicode61 with diacritics folded ("café" finds "cafe"); prefix indexes make search-as-you-type cheap.
CREATE VIRTUAL TABLE apps_fts USING fts5(
    name,
    description,
    tags,
    content = 'apps',
    content_rowid = 'seq',
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3 4'
);

CREATE TRIGGER apps_ai AFTER INSERT ON apps BEGIN
    INSERT INTO apps_fts(rowid, name, description, tags)
    VALUES (NEW.seq, NEW.name, NEW.description, NEW.tags);
END;

CREATE TRIGGER apps_ad AFTER DELETE ON apps BEGIN
    INSERT INTO apps_fts(apps_fts, rowid, name, description, tags)
    VALUES ('delete', OLD.seq, OLD.name, OLD.description, OLD.tags);
END;

-- Only when a searched column changes: status and timestamp updates leave the index alone.
CREATE TRIGGER apps_au AFTER UPDATE OF name, description, tags ON apps BEGIN
    INSERT INTO apps_fts(apps_fts, rowid, name, description, tags)
    VALUES ('delete', OLD.seq, OLD.name, OLD.description, OLD.tags);
    INSERT INTO apps_fts(rowid, name, description, tags)
    VALUES (NEW.seq, NEW.name, NEW.description, NEW.tags);
END;

-- Apps that existed before this migration.
INSERT INTO apps_fts(apps_fts) VALUES ('rebuild');
