FROM python:3.12-slim
RUN apt-get install -y libpq5
RUN <<EOF
pip install flask
EF
