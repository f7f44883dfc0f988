use super::*;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new("/home/u/.metaclaw/config.toml"))
}

#[test]
fn empty_and_default_file_are_the_defaults() {
    assert_eq!(parse("").unwrap(), Config::default());
    assert_eq!(parse(DEFAULT_FILE).unwrap(), Config::default());
}

#[test]
fn unknown_key_names_key_and_file() {
    let err = parse("[proxy]\nprot = 1\n").unwrap_err().to_string();
    assert!(err.contains("prot"), "{err}");
    assert!(err.contains("/home/u/.metaclaw/config.toml"), "{err}");
    assert!(err.contains("line 2"), "{err}");
}

#[test]
fn wrong_type_is_rejected() {
    let err = parse("[proxy]\nport = \"x\"\n").unwrap_err().to_string();
    assert!(err.contains("port"), "{err}");
}

#[test]
fn bad_values_name_their_key() {
    for (text, key) in [
        ("[upstream]\nbase_url = \"ftp://x\"", "upstream.base_url"),
        ("[upstream]\nbase_url = \"nope\"", "upstream.base_url"),
        ("[upstream]\nmodel = \" \"", "upstream.model"),
        ("[upstream]\ntimeout_secs = 0", "upstream.timeout_secs"),
        ("[proxy]\nmax_body_mib = 0", "proxy.max_body_mib"),
        ("[proxy]\ndrain_timeout_secs = 3601", "proxy.drain_timeout_secs"),
        ("[proxy]\napi_key = \"short\"", "proxy.api_key"),
        ("[log]\nlevel = \"loud\"", "log.level"),
        ("[store]\nflush_interval_ms = 0", "store.flush_interval_ms"),
        ("[judge]\nmax_tokens = 1", "judge.max_tokens"),
        ("[judge]\ntimeout_secs = 0", "timeout_secs"),
        ("[judge]\nrun_in = \"sometimes\"", "run_in"),
        ("[evolve]\nmax_tokens = 1", "evolve.max_tokens"),
        ("[evolve]\ntimeout_secs = 0", "timeout_secs"),
        ("[evolve]\nprompt_skills = 100000", "evolve.prompt_skills"),
        ("[proxy]\nheader_timeout_secs = 0", "proxy.header_timeout_secs"),
        ("[proxy]\nbody_timeout_secs = 0", "proxy.body_timeout_secs"),
        ("[proxy]\nmax_connections = 0", "proxy.max_connections"),
    ] {
        let err = parse(text).unwrap_err().to_string();
        assert!(err.contains(key), "{text}: {err}");
    }
}

#[test]
fn credentials_inside_an_upstream_url_are_refused_without_echoing_them() {
    for (text, key) in [
        ("[upstream]\nbase_url = \"https://alice:hunter22@gw.example/v1\"", "upstream.base_url"),
        ("[upstream]\nbase_url = \"https://tok3n@gw.example/v1\"", "upstream.base_url"),
        ("[[upstreams]]\nname = \"gw\"\nbase_url = \"http://u:hunter22@gw.example/v1\"", "upstreams.base_url"),
    ] {
        let err = parse(text).unwrap_err().to_string();
        assert!(err.contains(key) && err.contains("user name or password"), "{text}: {err}");
        assert!(!err.contains("hunter22") && !err.contains("tok3n"), "the secret is echoed: {err}");
    }
}

#[test]
fn a_query_or_fragment_in_an_upstream_url_is_refused_without_echoing_it() {
    for (text, key) in [
        ("[upstream]\nbase_url = \"http://127.0.0.1:1/v1?key=s3cretpw\"", "upstream.base_url"),
        ("[upstream]\nbase_url = \"http://127.0.0.1:1/v1?\"", "upstream.base_url"),
        ("[upstream]\nbase_url = \"https://gw.example/v1#s3cretpw\"", "upstream.base_url"),
        ("[[upstreams]]\nname = \"gw\"\nbase_url = \"http://gw.example/v1?api_key=s3cretpw\"", "upstreams.base_url"),
    ] {
        let err = parse(text).unwrap_err().to_string();
        assert!(err.contains(key) && err.contains("query"), "{text}: {err}");
        assert!(!err.contains("s3cretpw"), "the secret is echoed: {err}");
    }
    assert!(parse("[upstream]\nbase_url = \"http://127.0.0.1:1/v1\"").is_ok());
}

#[test]
fn round_trips_through_show() {
    let mut cfg = Config::default();
    cfg.upstream.model = Some("m".into());
    cfg.proxy.port = 4000;
    assert_eq!(parse(&cfg.to_toml()).unwrap(), cfg);
}
