"""Each input format and normalisation rule on small files the tests write."""

from __future__ import annotations

import gzip
import json

import pytest

from spark_client.engine.files import HEAD_BYTES

pytestmark = pytest.mark.spark


def only(output):
    (report,) = output.files
    return report


# --------------------------------------------------------------------------- raw formats


def test_syslog_rfc3164_service_is_the_tag_without_pid_and_levels_are_inferred(run):
    text = (
        "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; rhost=218.188.2.4 \n"
        "Jun  9 02:04:59 combo su(pam_unix)[2]: session opened for user news\n"
        "Jul 27 14:41:57 combo kernel: Kernel panic - not syncing\n"
        "Jul  7 08:06:15 combo  -- root[2421]: ROOT LOGIN ON tty2\n"
        "Jul  7 08:06:16 combo cron[1]: job timed out, retrying\n"
    )
    out = run({"messages": text}, assume_year=2005)
    report = only(out)
    assert report.format == "syslog" and report.rows == 5 and report.unparsed_lines == 0
    assert out.summary["levels"] == {"DEBUG": 0, "INFO": 2, "WARN": 1, "ERROR": 1, "CRITICAL": 1}
    assert out.summary["first_ts"] == "2005-06-09T02:04:59"
    assert out.summary["last_ts"] == "2005-07-27T14:41:57"
    services = {r["service"] for r in out.rollup_service}
    assert services == {"sshd(pam_unix)", "su(pam_unix)", "kernel", "-- root", "cron"}
    assert out.tables["errors_per_ip"] == [{"ip": "218.188.2.4", "count": 1}]


def test_syslog_priority_gives_the_level(run):
    text = "<11>Jun 14 15:16:01 host app[1]: all good\n<14>Jun 14 15:16:02 host app[1]: failed but info\n"
    out = run({"pri.log": text})
    assert out.summary["levels"]["ERROR"] == 1 and out.summary["levels"]["INFO"] == 1


def test_syslog_rfc5424(run):
    text = (
        '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3"] \ufeffAn application event\n'
        "<11>1 2003-10-11T22:14:16+02:00 host1 billing 77 - - payment failed for 10.1.2.3\n"
        "<10>1 2003-10-11T23:00:00Z host1 - - - - disk on fire\n"
    )
    out = run({"rfc5424.log": text})
    report = only(out)
    assert report.format == "syslog5424" and report.rows == 3 and report.unparsed_lines == 0
    assert out.summary["levels"] == {"DEBUG": 0, "INFO": 1, "WARN": 0, "ERROR": 1, "CRITICAL": 1}
    # A zone in the log is honoured: +02:00 becomes 20:14:16 UTC.
    assert out.summary["first_ts"] == "2003-10-11T20:14:16"
    assert {r["service"] for r in out.rollup_service} == {"evntslog", "billing", None}
    assert out.tables["top_errors"][1] == {"message": "payment failed for 10.1.2.3", "count": 1}


def test_log4j_spark_format(run):
    text = (
        "17/06/09 20:10:40 INFO executor.CoarseGrainedExecutorBackend: Registered signal handlers\n"
        "17/06/09 20:11:02 ERROR storage.BlockManager: Failed to fetch block 10.0.0.5\n"
    )
    out = run({"spark.log": text})
    assert only(out).format == "log4j_spark"
    assert out.summary["first_ts"] == "2017-06-09T20:10:40"
    assert out.tables["errors_per_service"] == [{"service": "storage.BlockManager", "count": 1}]
    assert out.tables["errors_by_type"] == [{"error_type": "Failed to fetch block <IP>", "count": 1}]


def test_log4j_iso_with_thread_and_stack_trace_continuations(run):
    text = (
        "2015-10-18 18:01:47,978 INFO [main] org.apache.hadoop.mapreduce.v2.app.MRAppMaster: Created MRAppMaster\n"
        "2015-10-18 18:01:48,963 ERROR [RMCommunicator] org.apache.hadoop.yarn.RM: ERROR IN CONTACTING RM.\n"
        "java.net.ConnectException: Connection refused\n"
        "\tat sun.nio.ch.SocketChannelImpl.checkConnect(Native Method)\n"
        "\t... 12 more\n"
        "2015-10-18 18:01:49,228 FATAL [main] org.apache.hadoop.Y: giving up\n"
    )
    out = run({"hadoop.log": text})
    report = only(out)
    assert report.format == "log4j_iso"
    assert (report.rows, report.continuation_lines, report.unparsed_lines) == (3, 3, 0)
    assert out.summary["error_count"] == 2 and out.summary["critical_count"] == 1
    assert out.summary["first_ts"] == "2015-10-18T18:01:47"


def test_log4j_dash_variant_service_is_the_class(run):
    text = (
        "2015-07-29 17:41:44,747 - INFO  [QuorumPeer[myid=1]/0:0:0:0:0:0:0:0:2181:FastLeaderElection@774] - Notification time out: 3200\n"
        "2015-07-29 19:04:12,394 - WARN  [RecvWorker:188978561024:QuorumCnxManager$RecvWorker@765] - Interrupting SendWorker\n"
        "2015-07-29 19:04:29,071 - ERROR [LearnerHandler-/10.10.34.13:42241:LearnerHandler@562] - Unexpected exception\n"
    )
    out = run({"zookeeper.log": text})
    assert only(out).format == "log4j_dash"
    services = {r["service"] for r in out.rollup_service}
    assert services == {"FastLeaderElection", "QuorumCnxManager$RecvWorker", "LearnerHandler"}
    assert out.summary["levels"]["WARN"] == 1 and out.summary["error_count"] == 1


def test_apache_error_log_both_versions(run):
    text = (
        "[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok /etc/httpd/conf/workers2.properties\n"
        "[Sun Dec 04 04:47:44 2005] [error] mod_jk child workerEnv in error state 6\n"
        "[Wed Oct 11 14:32:52.123456 2000] [core:error] [pid 35708:tid 4328636416] [client 72.15.99.187:1234] File does not exist: /usr/local/apache2/htdocs/favicon.ico\n"
    )
    out = run({"error_log": text})
    report = only(out)
    assert report.format == "apache_error" and report.rows == 3 and report.unparsed_lines == 0
    assert out.summary["error_count"] == 2
    assert out.summary["first_ts"] == "2000-10-11T14:32:52"
    assert out.tables["errors_per_ip"] == [{"ip": "72.15.99.187", "count": 1}]


def test_nginx_error_log(run):
    text = (
        '2024/01/15 10:30:00 [error] 1234#0: *1 open() "/usr/share/nginx/html/x" failed (2: No such file or directory), client: 10.0.0.9, server: _, request: "GET /x?y=1 HTTP/1.1", host: "a"\n'
        "2024/01/15 10:31:00 [warn] 1234#0: *2 an upstream response is buffered\n"
    )
    out = run({"nginx_error.log": text})
    assert only(out).format == "nginx_error"
    assert out.summary["levels"]["ERROR"] == 1 and out.summary["levels"]["WARN"] == 1
    assert out.tables["errors_per_ip"] == [{"ip": "10.0.0.9", "count": 1}]


def test_access_log_common_and_combined(run):
    text = (
        '127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif?a=1 HTTP/1.0" 200 2326\n'
        '10.1.1.1 - - [10/Oct/2000:13:56:00 +0000] "POST /api/orders HTTP/1.1" 503 12 "http://x/" "Mozilla/5.0"\n'
        '10.1.1.2 - - [10/Oct/2000:13:57:00 +0000] "GET /missing HTTP/1.1" 404 0 "-" "curl/8"\n'
    )
    out = run({"access.log": text})
    assert only(out).format == "access_log"
    assert out.summary["levels"] == {"DEBUG": 0, "INFO": 1, "WARN": 1, "ERROR": 1, "CRITICAL": 0}
    # The zone is honoured: 13:55:36 -0700 is 20:55:36 UTC.
    assert out.summary["last_ts"] == "2000-10-10T20:55:36"
    assert out.tables["errors_per_ip"] == [{"ip": "10.1.1.1", "count": 1}]
    assert out.summary["distinct_ips"] == 3


def test_json_lines_with_aliases_numbers_and_epoch_times(run):
    lines = [
        {"timestamp": 1700000000, "level": "error", "message": "db down", "ip": "10.0.0.1", "service": "api"},
        {"@timestamp": "2023-11-14T22:13:21.5Z", "severity": "WARNING", "msg": "slow", "app": "web"},
        {"ts": 1700000002123, "lvl": 50, "text": "bunyan error"},
        {"time": "2023-11-14 22:13:23", "msg": "retrying upload"},
    ]
    text = "\n".join(json.dumps(x) for x in lines) + "\n{not json}\n"
    out = run({"app.jsonl": text})
    report = only(out)
    assert report.format == "jsonl" and report.rows == 4 and report.unparsed_lines == 1
    assert report.samples == ["{not json}"]
    assert out.summary["levels"] == {"DEBUG": 0, "INFO": 0, "WARN": 2, "ERROR": 2, "CRITICAL": 0}
    assert out.summary["first_ts"] == "2023-11-14T22:13:20"
    assert out.summary["last_ts"] == "2023-11-14T22:13:23"
    assert out.summary["rows_without_timestamp"] == 0


# --------------------------------------------------------------------------- CSV


def test_csv_header_aliases_and_date_plus_time_columns(run):
    text = (
        "Date;Time;Severity;Msg;IP;Component;URL\n"
        "2024-02-01;10:00:00;err;boom at 10.0.0.1;10.9.9.9;api;/a\n"
        "2024-02-01;11:00:00;Warning;careful;;web;/b\n"
    )
    out = run({"semicolons.csv": text})
    report = only(out)
    assert report.format == "csv" and report.rows == 2
    assert out.summary["first_ts"] == "2024-02-01T10:00:00"
    assert out.tables["errors_per_ip"] == [{"ip": "10.9.9.9", "count": 1}]
    assert out.tables["errors_per_service"] == [{"service": "api", "count": 1}]


def test_loghub_structured_csv_uses_the_event_template(run):
    spark_like = (
        "LineId,Date,Time,Level,Component,Content,EventId,EventTemplate\n"
        '1,17/06/09,20:10:40,ERROR,storage.DiskBlockManager,"Failed to create dir 12, retrying",E1,Failed to create dir <*>\n'
    )
    linux_like = (
        "LineId,Month,Date,Time,Level,Component,PID,Content,EventId,EventTemplate\n"
        "1,Jun,14,15:16:01,combo,sshd(pam_unix),19939,authentication failure; rhost=218.188.2.4,E16,authentication failure; rhost=<*>\n"
        "2,Jun,14,15:16:02,combo,sshd(pam_unix),19937,check pass; user unknown,E27,check pass; user unknown\n"
    )
    hdfs_like = (
        "LineId,Date,Time,Pid,Level,Component,Content,EventId,EventTemplate\n"
        "1,081109,203615,148,INFO,dfs.DataNode$PacketResponder,PacketResponder 1 terminating,E10,PacketResponder <*> terminating\n"
    )
    out = run({"spark.csv": spark_like, "linux.csv": linux_like, "hdfs.csv": hdfs_like}, assume_year=2005)
    assert [f.format for f in out.files] == ["loghub_csv"] * 3
    assert [f.rows for f in out.files] == [1, 2, 1]
    assert out.summary["rows_without_timestamp"] == 0
    assert out.summary["first_ts"] == "2005-06-14T15:16:01"
    assert out.summary["last_ts"] == "2017-06-09T20:10:40"
    types = {r["error_type"]: r["count"] for r in out.tables["errors_by_type"]}
    assert types == {"Failed to create dir <*>": 1, "authentication failure; rhost=<*>": 1}
    # Linux's Level column holds the host name: the level is inferred from the message.
    assert out.summary["levels"]["INFO"] == 2


def test_csv_quoted_newlines_bom_crlf_and_no_final_newline(run):
    text = (
        "\ufefftimestamp,log_level,message\r\n"
        '2024-01-01 00:00:00,ERROR,"multi\r\nline, with comma"\r\n'
        '2024-01-01 00:00:01,INFO,"say ""hi"""\r\n'
        "2024-01-01 00:00:02,INFO,last"
    )
    out = run({"tricky.csv": text})
    report = only(out)
    assert (report.rows, report.unparsed_lines) == (3, 0)
    # Spark's multi-line CSV reader turns a quoted CRLF into LF.
    assert out.tables["top_errors"][0]["message"] == "multi\nline, with comma"
    assert out.summary["last_ts"] == "2024-01-01T00:00:02"


def _csv_beyond_the_head(tail: str) -> str:
    """A CSV file larger than detection's head, with `tail` as its last row."""
    rows = [f"2024-01-01 00:{i // 60 % 60:02d}:{i % 60:02d},INFO,request {i} served" for i in range(12_000)]
    text = "timestamp,log_level,message\n" + "\n".join(rows) + "\n" + tail + "\n"
    assert len(text) > 2 * HEAD_BYTES
    return text


def test_a_quoted_newline_beyond_the_head_is_read_as_one_value(run):
    # The whole-file scan runs while Spark plans the query, which assumes it finds
    # nothing; when it does find one, the analysis runs again as multi-line CSV.
    out = run({"late.csv": _csv_beyond_the_head('2024-01-01 01:00:00,ERROR,"disk full\non /var, giving up"')})
    report = only(out)
    assert (report.rows, report.unparsed_lines) == (12_001, 0)
    assert out.tables["top_errors"][0]["message"] == "disk full\non /var, giving up"
    assert out.summary["last_ts"] == "2024-01-01T01:00:00"
    assert out.stats["spark_queries"] == 2


def test_a_large_csv_without_quoted_newlines_is_analysed_in_one_query(run):
    out = run({"plain.csv": _csv_beyond_the_head('2024-01-01 01:00:00,ERROR,"disk full, giving up"')})
    report = only(out)
    assert (report.rows, report.unparsed_lines) == (12_001, 0)
    assert out.tables["top_errors"][0]["message"] == "disk full, giving up"
    assert out.stats["spark_queries"] == 1


def test_raw_text_with_bom_crlf_non_utf8_and_no_final_newline(run):
    text = (
        b"\xef\xbb\xbf17/06/09 20:10:40 INFO a.B: caf\xe9 latin-1 byte\r\n"
        b"17/06/09 20:10:41 ERROR a.B: failed \xff\xfe\r\n"
        b"17/06/09 20:10:42 WARN a.B: no newline at the end"
    )
    out = run({"mixed.log": text})
    report = only(out)
    assert report.format == "log4j_spark"
    assert (report.rows, report.unparsed_lines) == (3, 0)
    assert out.summary["first_ts"] == "2017-06-09T20:10:40"
    assert out.summary["levels"]["WARN"] == 1


def test_a_per_file_format_override(run):
    # Looks like nothing known; forced to syslog it parses.
    text = "Jun 14 15:16:01 host app: started\n"
    out = run({"x.txt": text}, formats={"x.txt": "syslog"})
    assert only(out).format == "syslog" and only(out).rows == 1


def test_assume_year_applies_to_yearless_timestamps(run):
    out = run({"s.log": "Mar  3 01:02:03 h a[1]: hi\n"}, assume_year=2019)
    assert out.summary["first_ts"] == "2019-03-03T01:02:03"
    assert (only(out).rows_without_year, only(out).assumed_year) == (1, 2019)


def test_rows_without_a_year_are_counted_per_file(run):
    syslog = "Mar  3 01:02:03 h a[1]: hi\nMar  3 01:02:04 h a[1]: bye\nnot a syslog line\n"
    csv = (
        "timestamp,level,message\n"
        "Jan 15 10:30:00,INFO,year-less\n"
        "2024-01-15T10:30:00,INFO,dated\n"
        "Mon Jan 15 10:30:00 2024,INFO,dated with a weekday\n"
        ",INFO,no time\n"
    )
    access = '10.0.0.1 - - [17/May/2015:10:05:03 +0000] "GET / HTTP/1.1" 200 5 "-" "curl/8"\n'
    out = run({"auth.log": syslog, "app.csv": csv, "access.log": access}, assume_year=2019)
    got = {f.name: (f.format, f.rows, f.rows_without_year, f.rows_without_timestamp) for f in out.files}
    assert got == {
        "auth.log": ("syslog", 2, 2, 0),
        "app.csv": ("csv", 4, 1, 1),
        "access.log": ("access_log", 1, 0, 0),
    }
    assert {f.as_dict()["rows_without_year"] for f in out.files} == {2, 1, 0}


def test_a_file_of_its_own_year_is_dated_in_it_in_the_same_query(run):
    line = "Dec 10 06:55:46 LabSZ sshd[24200]: Failed password for root from 10.0.0.7 port 22 ssh2\n"
    csv = "timestamp,level,message\nDec 11 07:00:00,ERROR,year-less\n2015-05-17T10:00:00,INFO,dated\n"
    out = run(
        {"old.log": line, "new.log": line, "app.csv": csv},
        years={"old.log": 2016, "app.csv": 2017},
        assume_year=2026,
    )
    by_name = {f.name: f for f in out.files}
    assert (by_name["old.log"].first_ts, by_name["old.log"].assumed_year) == ("2016-12-10T06:55:46", 2016)
    assert (by_name["new.log"].first_ts, by_name["new.log"].assumed_year) == ("2026-12-10T06:55:46", 2026)
    assert by_name["app.csv"].first_ts == "2015-05-17T10:00:00"
    assert by_name["app.csv"].last_ts == "2017-12-11T07:00:00"
    assert [f.rows_without_year for f in out.files] == [1, 1, 1]
    assert out.stats["spark_queries"] == 1


def test_timestamp_forms(run):
    rows = [
        ("2024-01-15T10:30:00Z", "2024-01-15T10:30:00"),
        ("2024-01-15 10:30:00.123+02:00", "2024-01-15T08:30:00"),
        ("2024-01-15 10:30:00,999", "2024-01-15T10:30:00"),
        ("24/01/15 10:30:00", "2024-01-15T10:30:00"),
        ("Jan 15 10:30:00", "2030-01-15T10:30:00"),
        ("Mon Jan 15 10:30:00 2024", "2024-01-15T10:30:00"),
        ("15/Jan/2024:10:30:00 +0000", "2024-01-15T10:30:00"),
        ("1705314600", "2024-01-15T10:30:00"),
        ("1705314600000", "2024-01-15T10:30:00"),
        ("2024/01/15 10:30:00", "2024-01-15T10:30:00"),
    ]
    files = {f"t{i}.csv": f'timestamp,level,message\n"{raw}",INFO,x\n' for i, (raw, _) in enumerate(rows)}
    out = run(files, assume_year=2030)
    got = [(f.first_ts, f.rows_without_timestamp, f.rows_without_year) for f in out.files]
    assert got == [(expected, 0, int(raw == "Jan 15 10:30:00")) for raw, expected in rows]


def _iso_head_then(*tail: str) -> str:
    """A CSV whose first 80 rows (more than detection samples) have ISO timestamps."""
    head = [f"2024-01-15 10:{i // 60:02d}:{i % 60:02d},INFO,request {i}" for i in range(80)]
    return "timestamp,log_level,message\n" + "\n".join([*head, *tail]) + "\n"


def test_a_csv_of_iso_timestamps_is_read_in_one_query(run):
    out = run({"iso.csv": _iso_head_then("2024-01-15T11:00:00Z,ERROR,late but ISO")})
    assert out.stats["spark_queries"] == 1
    assert (out.summary["last_ts"], out.summary["rows_without_timestamp"]) == ("2024-01-15T11:00:00", 0)


def test_other_timestamp_forms_after_an_iso_head_are_read_by_the_full_rules(run):
    # The head promises ISO, so the file is read with the ISO parse alone; the rows
    # it cannot read send the analysis round again with every rule.
    tail = (
        "24/01/16 09:00:00,ERROR,log4j form",
        "1705395600,WARN,epoch seconds",
        "yesterday,INFO,unreadable",
    )
    mixed = _iso_head_then(*tail)
    out = run({"clean.csv": _iso_head_then(), "mixed.csv": mixed})
    assert out.stats["spark_queries"] == 2
    clean, late = out.files
    assert (clean.rows, clean.rows_without_timestamp, clean.last_ts) == (80, 0, "2024-01-15T10:01:19")
    assert (late.rows, late.rows_without_timestamp) == (83, 1)
    assert (late.first_ts, late.last_ts) == ("2024-01-15T10:00:00", "2024-01-16T09:00:00")
    assert out.summary["levels"] == {"DEBUG": 0, "INFO": 81 + 80, "WARN": 1, "ERROR": 1, "CRITICAL": 0}
    # The same numbers as a file whose head already shows every form (full rules from the start).
    ruled = run({"clean.csv": _iso_head_then(), "mixed.csv": mixed.replace("\n", "\n" + tail[1] + "\n", 1)})
    assert ruled.stats["spark_queries"] == 1
    assert ruled.files[1].rows_without_timestamp == 1
    assert [r["count"] for r in ruled.tables["errors_by_hour"]] == [
        r["count"] for r in out.tables["errors_by_hour"]
    ]


# --------------------------------------------------------------------------- accounting


def test_unparsed_lines_are_counted_with_samples_and_kept_out_of_rows(run):
    good = "".join(f"17/06/09 20:10:{i:02d} INFO a.B: line {i}\n" for i in range(30))
    junk = "".join(f"garbage line {i}\n" for i in range(25))
    out = run({"a.log": good + junk + "\n\n"})
    report = only(out)
    assert (report.rows, report.unparsed_lines) == (30, 25)
    assert len(report.samples) == 20
    assert all(s.startswith("garbage line ") for s in report.samples)
    assert out.summary["unparsed_lines"] == 25 and out.summary["total_logs"] == 30


def test_rows_with_unreadable_timestamps_stay_in_every_count(run):
    text = "timestamp,log_level,message\nyesterday,ERROR,a\n2024-01-01 00:00:00,ERROR,b\nsoon,INFO,c\n"
    out = run({"t.csv": text})
    assert out.summary["total_logs"] == 3 and out.summary["error_count"] == 2
    assert out.summary["rows_without_timestamp"] == 2
    assert sum(r["count"] for r in out.tables["errors_by_hour"]) == 1
    assert sum(r["count"] for r in out.rollup_service) == 3


def test_ip_from_the_column_else_from_the_message(run):
    text = (
        "timestamp,log_level,message,ip\n"
        "2024-01-01 00:00:00,ERROR,from 10.0.0.1 and 10.0.0.2,\n"
        "2024-01-01 00:00:01,ERROR,from 10.0.0.1,192.168.1.1\n"
        "2024-01-01 00:00:02,ERROR,version 1.2.3.4.5 is no address,\n"
    )
    out = run({"ip.csv": text})
    assert out.tables["errors_per_ip"] == [{"ip": "10.0.0.1", "count": 1}, {"ip": "192.168.1.1", "count": 1}]


def test_error_types_mask_variable_parts(run):
    text = (
        "timestamp,log_level,message\n"
        "2024-01-01 00:00:00,ERROR,timeout after 30s on 10.0.0.7\n"
        "2024-01-01 00:00:01,ERROR,timeout after 45s on 10.0.0.9\n"
        "2024-01-01 00:00:02,ERROR,job 7f3e9c2a1b4d failed for 'alice'\n"
        "2024-01-01 00:00:03,ERROR,job 0a1b2c3d4e5f failed for 'bob'\n"
        "2024-01-01 00:00:04,ERROR,request 123e4567-e89b-12d3-a456-426614174000 aborted\n"
    )
    out = run({"types.csv": text})
    assert out.tables["errors_by_type"] == [
        {"error_type": "job <HEX> failed for '<STR>'", "count": 2},
        {"error_type": "timeout after <NUM>s on <IP>", "count": 2},
        {"error_type": "request <UUID> aborted", "count": 1},
    ]


def test_trend_bucket_grows_with_the_time_span(run):
    short = "".join(f"2024-01-01 00:{m:02d}:00,ERROR,x\n" for m in range(0, 60, 3))
    long = "".join(f"2024-{mo:02d}-01 00:00:00,ERROR,x\n" for mo in range(1, 5))
    out_short = run({"s.csv": "timestamp,log_level,message\n" + short})
    out_long = run({"l.csv": "timestamp,log_level,message\n" + long})
    assert out_short.trend_bucket_seconds == 60
    assert len(out_short.tables["error_trends"]) == 20
    # 91 days: 12-hour buckets are the smallest that give at most 200 of them.
    assert out_long.trend_bucket_seconds == 43200
    assert [r["count"] for r in out_long.tables["error_trends"]] == [1, 1, 1, 1]


def test_high_cardinality_is_capped_with_an_other_bucket(run):
    rows = "".join(
        f"2024-01-01 00:00:{i % 60:02d},ERROR,failure in service s{i % 30},10.0.{i % 50}.1,svc{i % 30:02d}\n"
        for i in range(600)
    )
    out = run({"many.csv": "timestamp,log_level,message,ip,service\n" + rows}, rollup_cap=10)
    services = {r["service"] for r in out.rollup_service}
    assert len(services) == 11 and "(other)" in services
    assert sum(r["count"] for r in out.rollup_service) == 600
    ips = {r["ip"] for r in out.rollup_ip}
    assert len(ips) == 11 and "(other)" in ips
    assert sum(r["count"] for r in out.rollup_ip) == 600
    assert out.summary["distinct_services"] == 30 and out.summary["distinct_ips"] == 50
    # Tables list real keys only; the top of each is exact.
    assert len(out.tables["errors_per_service"]) == 10
    assert all(r["count"] == 20 for r in out.tables["errors_per_service"])


def test_gzip_files_are_read(run):
    text = "timestamp,log_level,message\n2024-01-01 00:00:00,ERROR,zipped\n"
    out = run({"z.csv.gz": gzip.compress(text.encode())})
    assert only(out).rows == 1 and out.summary["error_count"] == 1
