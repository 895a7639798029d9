DROP TRIGGER apps_au;
DROP TRIGGER apps_ad;
DROP TRIGGER apps_ai;
DROP TABLE apps_fts;
