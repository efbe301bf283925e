# the FROM line was deleted by mistake
RUN pip install flask
COPY . /app
