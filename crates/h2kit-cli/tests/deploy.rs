//! The Kubernetes manifests in `deploy/kubernetes/` are read with PyYAML, and the commands
//! their containers run are run here, on one machine: three instances of the load Job's
//! command (with the index, start time, URL, rate and duration put in), then the report
//! Job's, which must merge what they wrote.

mod common;
use common::*;

use std::process::Command;

/// The shell command of the first container of the Job (or the document) in `file`.
fn job_command(file: &str, kind: &str) -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/kubernetes/").to_string() + file;
    let script = format!(
        "import sys, yaml\n\
         docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d['kind'] == '{kind}']\n\
         c = docs[0]['spec']['template']['spec']['containers'][0]\n\
         assert c['command'] == ['/bin/sh', '-c']\n\
         print(c['args'][0])"
    );
    let out = peer("python3", &["-c", &script, &path]);
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

#[test]
fn the_manifests_commands_load_and_merge() {
    let served = Served::start(&[]);
    let dir = Scratch::new("deploy");
    let h2kit = env!("CARGO_BIN_EXE_h2kit");
    let load = job_command("load-job.yaml", "Job");
    assert!(
        load.contains("--instance $((JOB_COMPLETION_INDEX + 1))/3"),
        "{load}"
    );
    let at = (time::OffsetDateTime::now_utc() + time::Duration::seconds(2))
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let local = load
        .replace("exec h2kit", &format!("exec {h2kit}"))
        .replace("START_AT_VALUE", &at)
        .replace("--rate 30000 -D 60s", "--rate 600 -D 1s")
        .replace("https://service.example:443/", &served.url("/"))
        .replace("/results", dir.0.to_str().unwrap());
    let runs: Vec<_> = (0..3)
        .map(|i| {
            Command::new("sh")
                .args(["-c", &local])
                .env("JOB_COMPLETION_INDEX", i.to_string())
                .spawn()
                .unwrap()
        })
        .collect();
    for mut r in runs {
        assert!(r.wait().unwrap().success());
    }
    let report = job_command("report-job.yaml", "Job")
        .replace("exec h2kit", &format!("exec {h2kit}"))
        .replace("/results", dir.0.to_str().unwrap());
    let out = Command::new("sh").args(["-c", &report]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let merged: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path("merged.json")).unwrap()).unwrap();
    assert_eq!(merged["merged_from"].as_array().unwrap().len(), 3);
    // Each instance scheduled a third of 600 req/s for 1 s.
    let n = merged["requests"].as_u64().unwrap();
    assert!((590..=610).contains(&n), "{n}");
}
