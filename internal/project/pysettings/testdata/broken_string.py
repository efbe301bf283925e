x = "abc
DB = os.environ["DATABASE_URL"]
)
