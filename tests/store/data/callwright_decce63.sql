BEGIN TRANSACTION;
CREATE TABLE "call_events" (
   "call_id" TEXT REFERENCES "calls"("id"),
   "seq" INTEGER,
   "t" REAL,
   "kind" TEXT,
   "state" TEXT,
   "text" TEXT,
   "mode" TEXT,
   "confidence" REAL,
   "count" INTEGER,
   "data" TEXT,
   PRIMARY KEY ("call_id", "seq")
);
INSERT INTO "call_events" VALUES('c1',0,0.0,'call_start',NULL,NULL,NULL,NULL,NULL,NULL);
INSERT INTO "call_events" VALUES('c1',1,1.5,'state_enter','menu',NULL,NULL,NULL,NULL,NULL);
INSERT INTO "call_events" VALUES('c1',2,3.0,'no_input','menu',NULL,NULL,NULL,NULL,NULL);
INSERT INTO "call_events" VALUES('c1',3,4.5,'state_enter','pay',NULL,NULL,NULL,NULL,NULL);
INSERT INTO "call_events" VALUES('c1',4,6.0,'call_end','pay',NULL,NULL,NULL,NULL,NULL);
INSERT INTO "call_events" VALUES('c2',0,0.0,'call_start',NULL,NULL,NULL,NULL,NULL,NULL);
INSERT INTO "call_events" VALUES('c2',1,1.5,'state_enter','menu',NULL,NULL,NULL,NULL,NULL);
INSERT INTO "call_events" VALUES('c2',2,3.0,'no_input','menu',NULL,NULL,NULL,NULL,NULL);
INSERT INTO "call_events" VALUES('c2',3,4.5,'state_enter','pay',NULL,NULL,NULL,NULL,NULL);
INSERT INTO "call_events" VALUES('c2',4,6.0,'call_end','pay',NULL,NULL,NULL,NULL,NULL);
INSERT INTO "call_events" VALUES('c3',0,0.0,'call_start',NULL,NULL,NULL,NULL,NULL,NULL);
INSERT INTO "call_events" VALUES('c3',1,1.5,'state_enter','menu',NULL,NULL,NULL,NULL,NULL);
INSERT INTO "call_events" VALUES('c3',2,3.0,'no_input','menu',NULL,NULL,NULL,NULL,NULL);
INSERT INTO "call_events" VALUES('c3',3,4.5,'state_enter','pay',NULL,NULL,NULL,NULL,NULL);
INSERT INTO "call_events" VALUES('c3',4,6.0,'call_end','pay',NULL,NULL,NULL,NULL,NULL);
CREATE TABLE "calls" (
   "id" TEXT PRIMARY KEY,
   "flow" TEXT NOT NULL,
   "flow_hash" TEXT,
   "flow_version" TEXT,
   "direction" TEXT,
   "channel" TEXT,
   "caller_id" TEXT,
   "called_number" TEXT,
   "language" TEXT,
   "started_at" TEXT NOT NULL,
   "ended_at" TEXT,
   "duration_s" REAL,
   "outcome" TEXT,
   "queue" TEXT,
   "disposition" TEXT,
   "end_reason" TEXT,
   "last_state" TEXT,
   "recording_path" TEXT
);
INSERT INTO "calls" VALUES('c1','billing',NULL,NULL,'inbound','text','+15550001',NULL,NULL,'2026-11-02T09:00:00-05:00','2026-11-02T09:00:00-05:00',42.0,'self_served',NULL,NULL,NULL,NULL,NULL);
INSERT INTO "calls" VALUES('c2','billing',NULL,NULL,'inbound','text','+15550001',NULL,NULL,'2026-11-03T10:00:00-05:00','2026-11-03T10:00:00-05:00',42.0,'transferred','billing',NULL,NULL,NULL,NULL);
INSERT INTO "calls" VALUES('c3','billing',NULL,NULL,'inbound','text','+15550002',NULL,NULL,'2026-11-03T11:00:00-05:00','2026-11-03T11:00:00-05:00',42.0,'abandoned',NULL,NULL,NULL,NULL,NULL);
CREATE TABLE "survey_answers" (
   "call_id" TEXT REFERENCES "calls"("id"),
   "question" TEXT,
   "value" INTEGER,
   "state" TEXT,
   "t" REAL,
   PRIMARY KEY ("call_id", "question")
);
INSERT INTO "survey_answers" VALUES('c1','csat',5,'csat',30.0);
CREATE INDEX "idx_calls_started_at"
    ON "calls" ("started_at");
CREATE INDEX "idx_calls_flow_outcome"
    ON "calls" ("flow", "outcome");
CREATE INDEX "idx_call_events_kind_state"
    ON "call_events" ("kind", "state");
COMMIT;
