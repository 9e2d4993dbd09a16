# Two commands a new user needs: `make demo` and `make test`. Both build .venv on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR ?= data/demo
DEMO_DOCUMENTS ?= 1000
PYTEST_ARGS ?=

.PHONY: demo test lint venv clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	@$(BIN)/python -m pip install -q -e '.[dev]' || { \
	  echo "*** mysqlclient could not be built (it needs the MariaDB client headers:"; \
	  echo "*** apt-get install libmariadb-dev pkg-config). Installing without it;"; \
	  echo "*** the MariaDB tests will be skipped (or fail under CI=true)."; \
	  $(BIN)/python -m pip install -q -e '.[test,postgres]'; }
	touch $(STAMP)

demo: $(STAMP)
	rm -rf $(DEMO_DIR)
	ARCHIVE_DATA_DIR=$(DEMO_DIR) $(BIN)/python manage.py migrate -v 0
	ARCHIVE_DATA_DIR=$(DEMO_DIR) $(BIN)/python manage.py generate_archive --documents $(DEMO_DOCUMENTS) --seed 1
	mkdir -p $(DEMO_DIR)/export
	ARCHIVE_DATA_DIR=$(DEMO_DIR) $(BIN)/python manage.py document_exporter $(DEMO_DIR)/export --stream
	ARCHIVE_DATA_DIR=$(DEMO_DIR) $(BIN)/python manage.py verify_export $(DEMO_DIR)/export --against-db
	@echo "Demo archive in $(DEMO_DIR) (db.sqlite3, media/), its export in $(DEMO_DIR)/export."

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python scripts/test_databases.py $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) data/demo
