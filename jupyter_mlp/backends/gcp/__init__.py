"""What the Google Cloud backends share: clients and error wording (`service`), staging a
bundle as a package in Cloud Storage (`staging`), and reading Cloud Logging (`cloud_logging`)."""
