-- Hand-written: move each evaluation's engine output (result, compressed) out of line as soon as a row passes 128
-- bytes, so the evaluations heap holds only the narrow columns the panel scans, and a nightly re-evaluation that
-- changes nothing but the date rewrites a small tuple.
ALTER TABLE "evaluations" SET (toast_tuple_target = 128);
