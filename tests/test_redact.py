from luban.safety.redact import Redactor, carries_marker

# Made-up values in each format (none of them is a real credential).
SAMPLES = {
    "aws-access-key-id": "AKIAABCDEFGHIJKLMNOP",
    "github-token": "ghp_" + "a1B2" * 9,
    "gitlab-token": "glpat-" + "x" * 20,
    "slack-token": "xoxb-1234567890-abcdef",
    "api-key": "sk-proj-" + "Z9" * 12,
    "google-api-key": "AIza" + "b" * 35,
    "stripe-key": "sk_live_" + "0" * 24,
    "huggingface-token": "hf_" + "Q" * 34,
    "npm-token": "npm_" + "n" * 36,
    "jwt": "eyJhbGciOiJIUzI1.eyJzdWIiOiIxMjM0.SflKxwRJSMeKKF2QT4",
}


def test_each_known_format_is_replaced_by_its_marker():
    redact = Redactor()
    for kind, secret in SAMPLES.items():
        assert redact(f"token: {secret} (end)") == f"token: [REDACTED:{kind}] (end)", kind


def test_only_the_secret_part_of_a_match_is_replaced():
    redact = Redactor()
    assert redact("DATABASE_URL=postgres://admin:hunter22@db:5432/prod") == (
        "DATABASE_URL=postgres://admin:[REDACTED:url-password]@db:5432/prod")
    assert redact("URL=CANARY_postgres://admin:secret@db") == "URL=CANARY_postgres://admin:[REDACTED:url-password]@db"
    assert redact("aws_secret_access_key = " + "w" * 40) == "aws_secret_access_key = [REDACTED:aws-secret-access-key]"
    key = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk=\n-----END OPENSSH PRIVATE KEY-----"
    assert redact(f"cat id\n{key}\nexit code: 0") == "cat id\n[REDACTED:private-key]\nexit code: 0"


def test_values_of_credential_named_variables_are_redacted_wherever_they_appear():
    redact = Redactor.from_environ({"SECRET_API_KEY": "CANARY_sk_live_abc123xyz789", "HOME": "/root/home1",
                                    "SHORT_TOKEN": "abc"})
    assert redact.known == ("CANARY_sk_live_abc123xyz789",)
    assert redact("SECRET_API_KEY=CANARY_sk_live_abc123xyz789 HOME=/root/home1 abc") == (
        "SECRET_API_KEY=[REDACTED:environment-secret] HOME=/root/home1 abc")


def test_ordinary_code_is_left_alone():
    code = "token = get_token()\npassword = os.environ['DB_PASSWORD']\nurl = 'https://example.com/a:b'\n"
    assert Redactor()(code) == code


def test_a_marker_in_an_argument_is_found():
    assert carries_marker({"path": "a.py", "new_string": "KEY = '[REDACTED:api-key]'"}) == "new_string"
    assert carries_marker({"path": "a.py", "content": "KEY = 1"}) is None
